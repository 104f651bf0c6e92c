// Loaded into each service process by the soak only (NODE_OPTIONS `--expose-gc --import tsx
// --import` this file): SIGUSR2 runs a full garbage collection, so the heap the soak samples just
// after is what survives collection. Heap used without it is a sawtooth of tens of MiB whose
// old-space garbage can pile up for minutes between major collections.
const collect = (globalThis as { gc?: () => void }).gc;
if (collect) process.on('SIGUSR2', () => collect());
