import { startE2eStack } from '../support/e2e-stack';
console.log(typeof startE2eStack);
