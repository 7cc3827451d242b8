import { loadModel } from './model';

/** sha256 hex of the committed weights file (reads and folds it on first call). */
export function modelVersion(): string {
  return loadModel().version;
}
