import { fxpipeVersion } from '../util/version.js';
import { SEVERITY, type AlertKind, type AlertPayload } from './kinds.js';

/** An alert of kind, with its severity and fxpipe's version filled in. */
export function alertPayload(kind: AlertKind, fields: Omit<AlertPayload, 'kind' | 'severity' | 'fxpipe'>): AlertPayload {
  return { kind, severity: SEVERITY[kind], ...fields, fxpipe: { version: fxpipeVersion } };
}
