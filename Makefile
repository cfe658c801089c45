# The seed's `make docker-up`: PostgreSQL + `fxpipe schedule` in containers (needs a Docker engine).
COMPOSE = docker compose -f examples/docker-compose.yml

docker-up:
	$(COMPOSE) up -d --build

docker-down:
	$(COMPOSE) down

.PHONY: docker-up docker-down
