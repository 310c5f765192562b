declare const SOCKLAB_VERSION: string;
console.log(`tcp-server ${SOCKLAB_VERSION} (node ${process.versions.node}, ${process.platform}-${process.arch})`);
