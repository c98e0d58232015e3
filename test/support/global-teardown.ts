import { removeTemplate } from "./pglite-template";

export default removeTemplate;
