// int8 against the genuine fp32 vectors on the native backend: see int8-suite.ts.
import { int8Suite } from './int8-suite.js';

int8Suite('native');
