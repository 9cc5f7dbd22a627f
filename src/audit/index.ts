export { createRedactor, type Redactor, type RedactorOptions } from './redact.ts';
export { eventJson, followEvents, parseLimit, parseSince, renderEventLine, type EventJson, type FollowOptions } from './logs.ts';
