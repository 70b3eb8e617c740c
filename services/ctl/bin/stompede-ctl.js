#!/usr/bin/env node
// The stompede-ctl command (npx stompede-ctl in the repo): the compiled CLI in ../dist.
import "../dist/main.js";
