// Prints squid.conf as components/workload/squid-config.ts renders it, for the image test
// (test_egress_proxy_image.py): argv[2] is that module compiled to CommonJS, argv[3] its args as JSON.
"use strict";
const { renderSquidConfig } = require(process.argv[2]);
process.stdout.write(renderSquidConfig(JSON.parse(process.argv[3])));
