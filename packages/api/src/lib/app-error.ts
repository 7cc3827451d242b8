/** The one error type domain code throws; trpc.ts maps it to TRPCError codes. */
export type TAppErrorCode =
  'BAD_REQUEST' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND' | 'CONFLICT' | 'TOO_MANY_REQUESTS' | 'UNAVAILABLE';

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    public readonly code: TAppErrorCode,
    message: string,
    public readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}
