// The admin API: wire types and grpc-js service definitions generated from proto/ by `make proto`
// (never edited by hand), plus what every user of them needs.
export * from './gen/index.js';
export { durationFromMs, msFromDuration } from './units.js';
export { reflectionPackageDefinition } from './reflection.js';
