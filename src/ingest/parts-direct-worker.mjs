// Worker entry: TypeScript runs through tsx here too, as in the main thread (no build step).
import { register } from 'tsx/esm/api';

register();
await import('./parts-direct-worker.ts');
