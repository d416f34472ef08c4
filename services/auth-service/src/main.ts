import { hello } from '@concord/common';
console.log(hello());
