import { PGlite } from '@electric-sql/pglite';
let t=Date.now();
const db = await PGlite.create();
console.log('initdb', Date.now()-t); t=Date.now();
await db.exec('create table x(a int)');
const blob = await db.dumpDataDir('none');
console.log('dump', Date.now()-t, blob.size); t=Date.now();
const db2 = await PGlite.create({ loadDataDir: blob });
console.log('load', Date.now()-t, (await db2.query('select count(*) from x')).rows); 
