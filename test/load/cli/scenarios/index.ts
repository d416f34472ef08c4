import type { ScenarioDefinition } from '../scenario';
import { authenticatedReads, loginStorm } from './auth.scenarios';
import { mixed } from './mixed.scenario';
import { fanoutShared, fanoutUser, presenceChurn, realtimeConnect } from './realtime.scenarios';
import { revocationStorm } from './revocation.scenario';
import { settingsCas, settingsHot } from './settings.scenarios';

/** Every scenario of `npm run load`, in the order --help lists them. */
export const SCENARIOS: readonly ScenarioDefinition[] = [
  loginStorm,
  authenticatedReads,
  settingsCas,
  settingsHot,
  realtimeConnect,
  fanoutShared,
  fanoutUser,
  presenceChurn,
  revocationStorm,
  mixed,
];
