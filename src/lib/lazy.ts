// Deferred modules. Every test file imports "bpfload", and `bun test` pays for each module an
// import evaluates (Bun transpiles small files on every run): the heavy parts (the loader, the
// attach kinds, the ELF reader, the assembler) are loaded on the first call that needs them, with
// Bun's synchronous require() of an ES module, so the API stays synchronous. `bun build` bundles
// a require() of a literal path like an import, so the compiled executable has them too.

/** `get()` once, on first use, then the same value: `const attachKinds = lazy(() => require("../kernel/attach/index.ts") as typeof import("../kernel/attach/index.ts"))`. */
export function lazy<T>(get: () => T): () => T {
  let value: T | undefined;
  let done = false;
  return () => {
    if (!done) (value = get()), (done = true);
    return value as T;
  };
}

/** A function that loads its module on its first call and is that module's function from then on (same arguments, same result). */
export function lazyFunction<F extends (...args: never[]) => unknown>(get: () => F): F {
  let f: F | undefined;
  return function (this: unknown, ...args: Parameters<F>) {
    return (f ??= get()).apply(this, args);
  } as unknown as F;
}

/**
 * A class that loads its module on first use (`new`, a static member, `instanceof`, `extends`) and
 * then behaves as that class: instances are the real class's (its prototype, its private fields).
 * For classes "bpfload" exports by value whose modules are heavy; pair it with
 * `export type Name = import("...").Name` for the instance type.
 */
export function lazyClass<C extends abstract new (...args: never) => unknown>(get: () => C): C {
  const real = lazy(get);
  // a plain function as the target: constructible, and `prototype` is writable, so the get trap may answer the real one
  return new Proxy(function () {} as unknown as C, {
    construct: (_target, args, newTarget) => Reflect.construct(real() as unknown as new (...a: unknown[]) => object, args, newTarget),
    get: (_target, key) => Reflect.get(real(), key),
    has: (_target, key) => Reflect.has(real(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  });
}
