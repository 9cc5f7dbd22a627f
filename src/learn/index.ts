export { diffLists, generateProfile, normaliseName, suffixFor, type BaseAllows, type Generated, type GenerateOptions, type ListDiff, type Observations } from './generate.ts';
