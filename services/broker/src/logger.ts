import { pino, type Logger as PinoLogger } from 'pino';
import type { BrokerConfig } from './settings.js';

export function createLogger(config: Pick<BrokerConfig, 'logLevel' | 'logPretty' | 'nodeId'>): PinoLogger {
  return pino({
    level: config.logLevel,
    base: { node: config.nodeId },
    ...(config.logPretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}
