# atlassian_ops.backup: the README's commands. `make demo`, `make test`, `make bench`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAGE_ROOT := $(CURDIR)/.build
STAGE := $(STAGE_ROOT)/ansible_collections/atlassian_ops/backup
export ANSIBLE_COLLECTIONS_PATH := $(STAGE_ROOT)
export PYTHONPATH := $(STAGE_ROOT):$(CURDIR)/tests/emulator
export ANSIBLE_NOCOLOR := 1
export ANSIBLE_HOST_KEY_CHECKING := 0

.PHONY: help venv fidelity-venv stage demo test sanity lint docs-lint changelog-lint units e2e molecule build bench chaos clean

help:
	@echo "make demo   - set up, start the emulator, run a backup playbook against it, show the verified backup"
	@echo "make test   - sanity, lint, unit and integration tests (everything CI runs)"
	@echo "make bench  - download and upload throughput against curl (and aria2c), peak memory, resume after a kill"
	@echo "make chaos  - the seeded fault campaign: 200 runs through ansible-playbook, invariants checked"
	@echo "make molecule - the role scheduled_backup's molecule scenario (converge, idempotence, verify)"

$(VENV)/.installed: tests/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is needed (ansible-core 2.19 on Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r tests/requirements.txt
	touch $@

venv: $(VENV)/.installed

# The fidelity test's third-party client, unmodified, in a virtualenv of its own (tests/e2e/test_fidelity_*).
FIDELITY_VENV := $(CURDIR)/.venv-fidelity
FIDELITY_CLIENT := jira-confluence-full-instance-backup==1.3.3
$(FIDELITY_VENV)/.installed:
	$(PYTHON) -m venv $(FIDELITY_VENV)
	$(FIDELITY_VENV)/bin/pip install -q --upgrade pip
	$(FIDELITY_VENV)/bin/pip install -q $(FIDELITY_CLIENT)
	touch $@

fidelity-venv: $(FIDELITY_VENV)/.installed

# ansible-test and ansible need the collection at ansible_collections/<ns>/<name> (a real copy).
stage: venv
	@rm -rf $(STAGE) && mkdir -p $(STAGE)
	@git ls-files -z -co --exclude-standard | $(BIN)/python -c 'import os,shutil,sys; \
	  [ (os.makedirs(os.path.dirname(os.path.join(sys.argv[1], p)) or ".", exist_ok=True), shutil.copy2(p, os.path.join(sys.argv[1], p))) \
	    for p in sys.stdin.read().split("\0") if p and os.path.isfile(p) ]' $(STAGE)
	@# ansible-test lists files with git: give the copy its own index (the outer repo ignores .build/).
	@cd $(STAGE) && git init -q && git add -A

demo: stage
	@bash tests/tools/demo.sh

sanity: stage
	@mkdir -p $(HOME)/.ansible/test/cache
	@ver=$$($(BIN)/python -c 'import re,ansible_test._internal.python_requirements as m,inspect; print(re.search(r"pip=.(\d+\.\d+(?:\.\d+)?)", inspect.getsource(m)).group(1).replace(".","_"))'); \
	  cp tests/tools/get_pip_standin.py $(HOME)/.ansible/test/cache/get_pip_$$ver.py
	cd $(STAGE) && PATH=$(BIN):$$PATH $(BIN)/ansible-test sanity --python 3.11 --color no

lint: stage
	cd $(STAGE) && PATH=$(BIN):$$PATH $(BIN)/ansible-lint --profile production --offline

docs-lint: stage
	cd $(STAGE) && PATH=$(BIN):$$PATH $(BIN)/antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck .

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

build: stage
	cd $(STAGE) && $(BIN)/ansible-galaxy collection build --force --output-path $(CURDIR)/dist

units: stage
	cd $(STAGE_ROOT) && $(BIN)/python -m pytest -q -p no:cacheprovider ansible_collections/atlassian_ops/backup/tests/unit

E2E_RUNS ?= 1
e2e: stage fidelity-venv
	@for i in $$(seq $(E2E_RUNS)); do \
	  echo "== e2e run $$i of $(E2E_RUNS)"; \
	  (cd $(STAGE_ROOT) && FIDELITY_VENV=$(FIDELITY_VENV) $(BIN)/python -m pytest -q -p no:cacheprovider -n 2 \
	    ansible_collections/atlassian_ops/backup/tests/e2e) || exit 1; \
	done

# The role scheduled_backup on localhost against the emulator and moto (no driver, no containers).
molecule: stage
	cd $(STAGE) && PATH=$(BIN):$$PATH $(BIN)/molecule test -s scheduled_backup

test: sanity lint docs-lint changelog-lint build fidelity-venv molecule
	cd $(STAGE_ROOT) && FIDELITY_VENV=$(FIDELITY_VENV) $(BIN)/python -m pytest -p no:cacheprovider -n 2 -q \
	  ansible_collections/atlassian_ops/backup/tests/unit ansible_collections/atlassian_ops/backup/tests/e2e

bench: stage fidelity-venv
	FIDELITY_VENV=$(FIDELITY_VENV) $(BIN)/python benchmarks/download_bench.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/upload_bench.py $(UPLOAD_BENCH_ARGS)
	$(BIN)/python benchmarks/verify_bench.py $(VERIFY_BENCH_ARGS)
	$(BIN)/python benchmarks/prune_bench.py

CHAOS_RUNS ?= 200
CHAOS_SEED ?= 1
chaos: stage
	cd $(STAGE_ROOT) && PATH=$(BIN):$$PATH $(BIN)/python \
	  ansible_collections/atlassian_ops/backup/tests/chaos/campaign.py --runs $(CHAOS_RUNS) --seed $(CHAOS_SEED)

clean:
	rm -rf $(STAGE_ROOT) dist tests/output $(FIDELITY_VENV)
