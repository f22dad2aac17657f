import Fastify from 'fastify';

/** The baseline: a bare Fastify route that parses the same JSON and answers 202, with no storage at all. */
const app = Fastify({ logger: false });
app.post('/echo', async (_request, reply) => reply.code(202).send({ event_id: 'x' }));
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ msg: 'echo ready', address })}\n`);
