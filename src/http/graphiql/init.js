// GraphiQL against this gateway; set `Authorization: Bearer …` in the Headers tab to query as
// a role (the dashboard's developer-token button mints one in developer mode).
(function () {
  var fetcher = GraphiQL.createFetcher({ url: new URL('/graphql', window.location.origin).toString() });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, { fetcher: fetcher, defaultEditorToolsVisibility: true }));
})();
