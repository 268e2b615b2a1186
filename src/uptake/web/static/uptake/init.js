// The NHS.UK frontend's components (header menu, details, …).
import { initAll } from "../nhsuk/nhsuk-frontend.min.js";
initAll();
