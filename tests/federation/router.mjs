// A federation router in front of the gateway's subgraph, for tests/api/federation.rs:
// Apollo Gateway (npm @apollo/gateway) composes the supergraph from the subgraphs' own
// `_service { sdl }` — the gateway at CUR_SUBGRAPH_URL and a small "surveys" subgraph of its
// own whose Survey points at Complaint by its key — and forwards the caller's Authorization
// header to every subgraph. Prints {"router": url} once it answers.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query { surveys: [Survey!]! }
  "A citizen's rating of how a complaint was handled."
  type Survey { id: ID! score: Int! complaint: Complaint }
  type Complaint @key(fields: "id", resolvable: false) { id: ID! }
`);
const complaints = (process.env.SURVEY_COMPLAINTS || '').split(',').filter(Boolean);
const resolvers = {
  Query: {
    surveys: () =>
      complaints.map((id, i) => ({ id: `s${i}`, score: 1 + (i % 5), complaint: { id } })),
  },
};
const surveys = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs, resolvers }) });
const { url: surveysUrl } = await startStandaloneServer(surveys, {
  listen: { port: 0, host: '127.0.0.1' },
});

const gateway = new ApolloGateway({
  supergraphSdl: new IntrospectAndCompose({
    subgraphs: [
      { name: 'cur', url: process.env.CUR_SUBGRAPH_URL },
      { name: 'surveys', url: surveysUrl },
    ],
  }),
  buildService: ({ url }) =>
    new RemoteGraphQLDataSource({
      url,
      willSendRequest({ request, context }) {
        if (context.authorization) request.http.headers.set('authorization', context.authorization);
      },
    }),
});
const router = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(router, {
  listen: { port: 0, host: '127.0.0.1' },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(JSON.stringify({ router: url }));
