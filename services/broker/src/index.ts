export { BrokerNode } from './node.js';
export { parseConfig, sessionConfig, settingsTable, helpText, ConfigError } from './config.js';
export { SETTINGS, type BrokerConfig, type Setting } from './settings.js';
export { loadNativeUws, UwsFallbackError } from './uws.js';
export { Admission, addressKey, type AdmissionLimits } from './admission.js';
export { createLogger } from './logger.js';
export * as sockjsFrames from './transports/sockjs-frames.js';
