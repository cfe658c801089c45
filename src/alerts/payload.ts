import { fxpipeVersion } from '../util/version.js';
import { SEVERITY, type AlertKind, type AlertPayload } from './kinds.js';

/** An alert of kind, with its severity and fxpipe's version filled in, fields in the documented order. */
export function alertPayload(kind: AlertKind, fields: Omit<AlertPayload, 'kind' | 'severity' | 'fxpipe'>): AlertPayload {
  const { message, runId, occurredAt, source, details } = fields;
  return { kind, severity: SEVERITY[kind], message, runId, occurredAt, source, details, fxpipe: { version: fxpipeVersion } };
}
