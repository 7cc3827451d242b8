/**
 * Compile-time pin (checked by `npm run typecheck`, never bundled): the wire types this package
 * declares for itself must be exactly what the server's procedures answer. A field added, removed
 * or retyped on either side fails tsc here.
 */
import type { AppRouter } from '@coolant/api/client';
import type { inferRouterOutputs } from '@trpc/server';
import type { TConsumeAnswer, THeartbeatAnswer, TRefundAnswer, TReleaseAnswer, TTiersListAnswer } from '../src/wire';

type TOut = inferRouterOutputs<AppRouter>;
type TEqual<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
type TAssert<T extends true> = T;

export type TPins = [
  TAssert<TEqual<TOut['admission']['consume'], TConsumeAnswer>>,
  TAssert<TEqual<TOut['admission']['release'], TReleaseAnswer>>,
  TAssert<TEqual<TOut['admission']['heartbeat'], THeartbeatAnswer>>,
  TAssert<TEqual<TOut['admission']['refund'], TRefundAnswer>>,
  // tiers.list answers much more; the gateway reads each tier's name and failMode.
  TAssert<TOut['tiers']['list'] extends TTiersListAnswer ? true : false>,
];
