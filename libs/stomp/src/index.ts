export { NUL, LF, CR, COLON, BACKSLASH } from './bytes.js';
export { StompProtocolError } from './errors.js';
export { escapeHeaderValue, unescapeHeaderValue, type Escaping } from './escape.js';
export { ClientCommands, ServerCommands, isConnectCommand, type ClientCommand, type ServerCommand, type Frame } from './frame.js';
export { Headers } from './headers.js';
export { FrameParser, DEFAULT_PARSER_LIMITS, type ParserLimits, type FrameSink } from './parser.js';
export { encodeFrame, encodeHead, encodeWithHead, type HeaderInput } from './encoder.js';
export { decodeUtf8, decodeAscii, encodeUtf8, utf8Length, writeUtf8 } from './text.js';
export {
  SUPPORTED_VERSIONS,
  negotiateVersion,
  parseHeartBeat,
  type HeartBeat,
  type StompVersion,
} from './version.js';
