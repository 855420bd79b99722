// Preloaded into the node processes the engine starts for the tests (NODE_OPTIONS --require, set by
// tests/engine/engine.ts; issue 26). Plain JavaScript: node loads it before ts-node is registered.
//
// @pulumi/pulumi 3.259 loads npm's @npmcli/arborist (with pacote, tar, sigstore, the registry
// client…) when it starts, in the program and in the dynamic provider alike, for one function,
// `computeCodePaths` (runtime/closure/codePaths.js: packaging a serialized function's node_modules),
// which this program never calls. Here that one require gets a stand-in whose `Arborist` loads the
// real module on first use, so a call behaves as before; nothing else is changed.
"use strict";
const Module = require("module");
const load = Module._load;
const codePaths = /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]closure[\\/]codePaths\.js$/;
Module._load = function (request, parent, isMain) {
    if (request === "@npmcli/arborist" && parent && codePaths.test(parent.filename)) {
        const real = () => load.call(this, request, parent, isMain);
        return { Arborist: function Arborist(...args) { return new (real().Arborist)(...args); } };
    }
    return load.apply(this, arguments);
};
