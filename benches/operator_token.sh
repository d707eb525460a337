# Sourced by the benchmark scripts. Requests carry an operator's HS256 token, verified on every
# request as in production. The operator's budget is checked on every request but never
# reached: a benchmark measures serving, not refusing (the default of 3,000 a minute would
# answer 429 within a second).
export CUR_RATE_LIMIT_OPERATOR=${CUR_RATE_LIMIT_OPERATOR:-1000000000}
export CUR_JWT_SECRET=${CUR_JWT_SECRET:-bench-secret-not-for-production-0123456789}

# operator_token BINARY DATABASE_URL: a two-hour operator token minted by that gateway binary.
operator_token() {
  DATABASE_URL="$2" "$1" token --role operator --sub bench --ttl 2h
}
