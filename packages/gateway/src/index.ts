// @coolant/gateway: the admission client a gateway puts in front of every generation (README.md).
export { createGateway } from './gateway';
export type {
  TAdmitDecision,
  TAdmitRequest,
  TCoolantDecision,
  TFailModeDecision,
  TGateway,
  TGatewayOptions,
  TLease,
} from './gateway';
export { CircuitBreaker, type TBreakerOptions, type TBreakerState } from './breaker';
export { CoolantCallError, CoolantUnavailableError } from './errors';
export type * from './wire';
