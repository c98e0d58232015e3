import { createTemplate } from "./pglite-template";

export default createTemplate;
