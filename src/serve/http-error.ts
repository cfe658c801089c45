/** An answer other than 200 that a handler decides on: its status and a one-line JSON error. */
export class HttpError extends Error {
  constructor(readonly status: 400 | 401 | 404 | 413 | 503, message: string, readonly parameter?: string) {
    super(message);
  }

  body(): { error: string; parameter?: string } {
    return this.parameter ? { error: this.message, parameter: this.parameter } : { error: this.message };
  }
}

export const badParameter = (parameter: string, message: string) => new HttpError(400, `invalid parameter ${parameter}: ${message}`, parameter);
