export { rpmCataloger } from './cataloger.js';
