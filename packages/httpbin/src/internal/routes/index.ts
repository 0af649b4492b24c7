/**
 * Every route of the server, in matching order.
 *
 * @internal
 */
import type { Route } from "../router.js"
import { adminRoutes } from "./admin.js"
import { authRoutes } from "./auth.js"
import { contentRoutes } from "./content.js"
import { cookieRoutes } from "./cookies.js"
import { echoRoutes } from "./echo.js"
import { faultContentRoutes } from "./faultContent.js"
import { faultSocketRoutes } from "./faultSocket.js"
import { redirectRoutes } from "./redirect.js"
import { statusRoutes } from "./status.js"
import { streamRoutes } from "./stream.js"

/** All routes. */
export const routes: ReadonlyArray<Route> = [
  ...echoRoutes,
  ...statusRoutes,
  ...redirectRoutes,
  ...cookieRoutes,
  ...authRoutes,
  ...streamRoutes,
  ...contentRoutes,
  ...faultSocketRoutes,
  ...faultContentRoutes,
  ...adminRoutes
]
