import { z } from 'zod';
import type { Config } from '../config.js';
import { usageError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PipelineOptions } from '../jobs/pipeline.js';
import { defaultHttpPolicy, type HttpPolicy } from '../sources/http.js';
import { getSource, sourceBaseUrl } from '../sources/registry.js';
import type { SourceName, SourceSettings } from '../sources/types.js';

const httpUrl = z.url({ protocol: /^https?$/ });

/** The HTTP policy the settings describe. */
export function httpPolicyFrom(config: Config): HttpPolicy {
  return {
    ...defaultHttpPolicy,
    connectTimeoutMs: config.httpConnectTimeoutMs,
    totalTimeoutMs: config.httpTimeoutMs,
    retries: config.httpRetries,
    maxBytes: config.httpMaxBytes,
  };
}

/** Per-source URL (FXPIPE_<NAME>_URL or the real provider) and key, validated up front. */
export function sourceSettingsFrom(
  config: Config,
  sources: SourceName[],
  env: NodeJS.ProcessEnv = process.env,
): (source: SourceName) => SourceSettings {
  const settings = new Map<SourceName, SourceSettings>();
  for (const name of sources) {
    const source = getSource(name);
    const baseUrl = sourceBaseUrl(source, env);
    if (!httpUrl.safeParse(baseUrl).success) throw usageError(`invalid setting ${source.urlEnv}: expected an http(s) URL`);
    if (source.needsKey && !config.exchangerateApiKey) {
      throw usageError(`the source ${name} needs an API key: set EXCHANGERATE_API_KEY, or leave ${name} out of --sources/FXPIPE_SOURCES`);
    }
    settings.set(name, { baseUrl, ...(source.needsKey ? { apiKey: config.exchangerateApiKey } : {}) });
  }
  return (source) => {
    const found = settings.get(source);
    if (!found) throw new Error(`source ${source} was not configured`);
    return found;
  };
}

export function pipelineOptionsFrom(
  config: Config,
  log: Logger,
  overrides: Partial<PipelineOptions> & Pick<PipelineOptions, 'kind'>,
): PipelineOptions {
  const sources = overrides.sources ?? config.sources;
  return {
    sources,
    verify: true,
    dryRun: false,
    changeThresholdPct: config.changeThresholdPct,
    deviationTolerancePct: config.deviationTolerancePct,
    zScoreThreshold: config.zScoreThreshold,
    lockWaitMs: config.lockWaitMs,
    asOfSkewMs: config.asOfSkewMinutes * 60_000,
    http: httpPolicyFrom(config),
    settingsFor: sourceSettingsFrom(config, sources),
    log,
    ...overrides,
  };
}
