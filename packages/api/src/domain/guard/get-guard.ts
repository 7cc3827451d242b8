// Interim: the guard's read moves here in the next commit (the guard split).
export { getGuard } from './guard-queries';
