/**
 * Learn mode (SPEC §7): sessions recorded as events, observations read from the gateway's
 * events, and the pure generator that turns them into a minimal profile.
 */
export {
  countObservations, countsLine, diffLists, generateProfile, normaliseName, suffixFor,
  type BaseAllows, type Counts, type Generated, type GenerateOptions, type ListDiff, type Observations,
} from './generate.ts';
export { learnSessions, nextSessionId, openSession, pickSession, SESSION_EVENTS, type LearnSession, type SessionSandbox } from './sessions.ts';
export { inWindow, observe, OBSERVED_EVENTS, windowStartMs } from './observe.ts';
export { baseAllows, listsOf, profileDiff, renderDiff, type ProfileDiff, type ProfileLists } from './base.ts';
export { createLearnService, noSessionError, type LearnService, type LearnServiceDeps, type LearnStatus, type SessionObservations } from './service.ts';
