// Worker entry when the package runs from TypeScript source (under tsx or vitest): a new
// worker thread starts without a TypeScript loader, so register tsx's before importing
// the real entry. A compiled build loads worker.js directly and never comes here.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
