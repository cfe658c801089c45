import { HTTPException } from 'hono/http-exception';

export type ErrorStatus = 400 | 401 | 404 | 408 | 413 | 503;

/** An answer other than 200 that a handler decides on: Hono's HTTPException, answered as a one-line JSON error. */
export class HttpError extends HTTPException {
  constructor(
    status: ErrorStatus,
    message: string,
    readonly parameter?: string,
  ) {
    super(status, { message, res: Response.json(parameter ? { error: message, parameter } : { error: message }, { status }) });
  }
}

export const badParameter = (parameter: string, message: string) =>
  new HttpError(400, `invalid parameter ${parameter}: ${message}`, parameter);
