# `make docker-up`: examples/docker-compose.yml in containers (needs a Docker engine): PostgreSQL and a streaming
# standby, `fxpipe schedule`, and two `fxpipe serve` replicas behind HAProxy on 127.0.0.1:8080 (examples/README.md).
COMPOSE = docker compose -f examples/docker-compose.yml

docker-up:
	$(COMPOSE) up -d --build

docker-down:
	$(COMPOSE) down

.PHONY: docker-up docker-down
