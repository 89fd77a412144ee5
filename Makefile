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

.PHONY: help venv demo-venv fidelity-venv azurite stage demo-stage demo test checks static-checks sanity lint docs-lint docsite changelog-lint units e2e molecule build release-check ee release bench chaos clean

help:
	@echo "make demo   - set up, start the emulator, run a backup playbook against it, show the verified backup"
	@echo "make test   - sanity, lint, docs and docsite, changelog, release and EE checks, molecule, unit and integration tests (everything CI runs)"
	@echo "make bench  - download, upload, verify, prune, encryption and off-site copy figures, peak memory, resume after a kill, 50 targets at once"
	@echo "make chaos  - the seeded fault campaign: 200 runs through ansible-playbook, invariants checked"
	@echo "make molecule - the roles' molecule scenarios (converge, idempotence, verify)"
	@echo "make docsite - the documentation site, into .build/docsite/build/html"
	@echo "make release VERSION=x.y.z - version, changelog and tarball of a release; make ee - the EE build context"

# The CI toolchain (make test). It holds everything the demo needs too, so a later make demo installs nothing.
$(VENV)/.installed: tests/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is needed (ansible-core 2.19 on Python 3.11)"; exit 1; }
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r tests/requirements.txt
	touch $(VENV)/.demo-installed $@

venv: $(VENV)/.installed

# What make demo needs (tests/requirements-demo.txt), quietly: a line on screen, the whole log in DEMO_LOG.
DEMO_LOG := $(VENV)/demo-install.log
$(VENV)/.demo-installed: tests/requirements-demo.txt
	@if [ -f $(VENV)/.installed ] && [ $(VENV)/.installed -nt tests/requirements-demo.txt ]; then touch $@; exit 0; fi; \
	  command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is needed (ansible-core 2.19 on Python 3.11)"; exit 1; }; \
	  echo "== Installing what the demo needs into $(VENV)/ (tests/requirements-demo.txt; the whole log: $(DEMO_LOG))"; \
	  started=$$(date +%s); mkdir -p $(VENV); \
	  { { [ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV); } \
	    && $(BIN)/pip install --upgrade pip && $(BIN)/pip install -r tests/requirements-demo.txt; } > $(DEMO_LOG) 2>&1 \
	    || { tail -n 30 $(DEMO_LOG); echo "The install failed (the lines above); the whole log is in $(DEMO_LOG)."; exit 1; }; \
	  echo "   $$($(BIN)/pip list --format=freeze 2>/dev/null | wc -l) packages in $$(( $$(date +%s) - started )) s"; \
	  touch $@

demo-venv: $(VENV)/.demo-installed

# The fidelity test's third-party client, unmodified, in a virtualenv of its own (tests/e2e/test_fidelity_*).
FIDELITY_VENV := $(CURDIR)/.venv-fidelity
FIDELITY_CLIENT := jira-confluence-full-instance-backup==1.3.3
$(FIDELITY_VENV)/.installed:
	$(PYTHON) -m venv $(FIDELITY_VENV)
	$(FIDELITY_VENV)/bin/pip install -q --upgrade pip
	$(FIDELITY_VENV)/bin/pip install -q $(FIDELITY_CLIENT)
	touch $@

fidelity-venv: $(FIDELITY_VENV)/.installed

# Azurite, Microsoft's Azure Storage emulator (npm), for the Azure Blob tests (tests/tools/azurite.py finds it through
# AZURITE_BIN). 3.35.0 is the last release that runs on node 20 (3.37 needs node 22).
AZURITE_VERSION := 3.35.0
AZURITE_DIR := $(CURDIR)/.build/azurite
export AZURITE_BIN := $(AZURITE_DIR)/node_modules/.bin/azurite-blob
$(AZURITE_DIR)/.installed-$(AZURITE_VERSION):
	@command -v npm >/dev/null || { echo "npm (node 20 or later) is needed to install Azurite, the Azure Blob emulator of the tests"; exit 1; }
	rm -rf $(AZURITE_DIR) && mkdir -p $(AZURITE_DIR)
	npm install --prefix $(AZURITE_DIR) azurite@$(AZURITE_VERSION) --no-audit --no-fund --loglevel=error
	touch $@

azurite: $(AZURITE_DIR)/.installed-$(AZURITE_VERSION)

# ansible-test and ansible need the collection at ansible_collections/<ns>/<name> (a real copy).
define STAGE_COPY
	@rm -rf $(STAGE) && mkdir -p $(STAGE)
	@git ls-files -z -co --exclude-standard | $(BIN)/python -c 'import os,shutil,sys; \
	  [ (os.makedirs(os.path.dirname(os.path.join(sys.argv[1], p)) or ".", exist_ok=True), shutil.copy2(p, os.path.join(sys.argv[1], p))) \
	    for p in sys.stdin.read().split("\0") if p and os.path.isfile(p) ]' $(STAGE)
	@# ansible-test lists files with git: give the copy its own index (the outer repo ignores .build/).
	@cd $(STAGE) && git init -q && git add -A
endef

stage: venv
	$(STAGE_COPY)

demo-stage: demo-venv
	$(STAGE_COPY)

# DEMO_VERBOSE=1 shows the playbook runs in full; by default they go to demo-backups/demo.log.
demo: demo-stage
	@bash tests/tools/demo.sh

sanity: stage
	@mkdir -p $(HOME)/.ansible/test/cache
	@ver=$$($(BIN)/python -c 'import re,ansible_test._internal.python_requirements as m,inspect; print(re.search(r"pip=.(\d+\.\d+(?:\.\d+)?)", inspect.getsource(m)).group(1).replace(".","_"))'); \
	  cp tests/tools/get_pip_standin.py $(HOME)/.ansible/test/cache/get_pip_$$ver.py
	cd $(STAGE) && PATH=$(BIN):$$PATH $(BIN)/ansible-test sanity --python 3.11 --color no

lint: stage
	cd $(STAGE) && PATH=$(BIN):$$PATH $(BIN)/ansible-lint --profile production --offline

docs-lint: stage
	cd $(STAGE) && PATH=$(BIN):$$PATH $(BIN)/antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck --check-extra-docs-refs .

# The documentation site (docs/docsite/): antsibull-docs sphinx-init and the build.sh it writes (--fail-on-error,
# sphinx-build -W --keep-going), with intersphinx offline. The site lands in .build/docsite/build/html.
docsite: stage
	PATH=$(BIN):$$PATH bash tests/tools/build_docsite.sh $(STAGE_ROOT)/docsite

# The fragments, and CHANGELOG.rst as antsibull-changelog renders changelogs/changelog.yaml (release writes both).
changelog-lint: stage
	$(BIN)/antsibull-changelog lint
	cd $(STAGE) && PATH=$(BIN):$$PATH $(BIN)/antsibull-changelog generate && git diff --quiet -- CHANGELOG.rst \
	  || { git diff -- CHANGELOG.rst | head -n 40; echo "CHANGELOG.rst is not what changelogs/changelog.yaml renders: run antsibull-changelog generate"; exit 1; }

build: stage
	cd $(STAGE) && $(BIN)/ansible-galaxy collection build --force --output-path $(CURDIR)/dist

# The release as a user meets it: the tarball (ansible-galaxy collection build), installed into a clean path, every
# module and role shown by ansible-doc from there; and the execution environment's build context for that tarball
# (ansible-builder introspect and create; building the image needs a container engine, which CI does not have).
RELEASE := $(STAGE_ROOT)/release
EE_DIR := $(CURDIR)/.build/ee
release-check: stage
	@rm -rf $(RELEASE) $(EE_DIR) && mkdir -p $(RELEASE) $(EE_DIR)
	cd $(STAGE) && $(BIN)/ansible-galaxy collection build --force --output-path $(RELEASE) >/dev/null
	$(BIN)/ansible-galaxy collection install $(RELEASE)/atlassian_ops-backup-*.tar.gz -p $(RELEASE)/installed --force >/dev/null
	@# execution-environment.yml copies .build/ee/atlassian_ops-backup.tar.gz into the build context.
	cp $(RELEASE)/atlassian_ops-backup-*.tar.gz $(EE_DIR)/atlassian_ops-backup.tar.gz
	$(BIN)/ansible-builder introspect --sanitize $(STAGE_ROOT) | sed 1d > $(EE_DIR)/introspect.yml
	$(BIN)/ansible-builder create -f execution-environment.yml -c $(EE_DIR)/context >/dev/null
	PATH=$(BIN):$$PATH $(BIN)/python tests/tools/check_release.py $(CURDIR) $$(ls $(RELEASE)/atlassian_ops-backup-*.tar.gz) \
	  $(RELEASE)/installed $(EE_DIR)/introspect.yml $(EE_DIR)/context

# A release: `make release VERSION=x.y.z` writes the version into galaxy.yml and its one Python copy (modules run
# where galaxy.yml is not; a unit test keeps the two equal), moves the changelog fragments into changelogs/changelog.yaml
# and renders CHANGELOG.rst (antsibull-changelog release, run in the staged copy where ansible-doc finds the modules),
# then builds the tarball into dist/. Commit the result and tag it.
release: venv
	@[[ "$(VERSION)" =~ ^[0-9]+\.[0-9]+\.[0-9]+$$ ]] || { echo "make release VERSION=x.y.z"; exit 1; }
	sed -i 's/^version: .*/version: $(VERSION)/' galaxy.yml
	sed -i 's/^COLLECTION_VERSION = .*/COLLECTION_VERSION = "$(VERSION)"/' plugins/module_utils/core/version.py
	$(MAKE) --no-print-directory stage
	cd $(STAGE) && PATH=$(BIN):$$PATH $(BIN)/antsibull-changelog release --version $(VERSION)
	cp $(STAGE)/CHANGELOG.rst CHANGELOG.rst && cp $(STAGE)/changelogs/changelog.yaml changelogs/changelog.yaml
	cd $(STAGE) && git status --porcelain -- changelogs/fragments | awk '$$1 ~ /D/ {print $$2}' | (cd $(CURDIR) && xargs -r git rm -q -f)
	$(MAKE) --no-print-directory build

# The execution environment's build context in .build/ee/context (then: ansible-builder build, see execution-environment.yml).
ee: release-check

units: stage
	cd $(STAGE_ROOT) && $(BIN)/python -m pytest -q -p no:cacheprovider ansible_collections/atlassian_ops/backup/tests/unit

E2E_RUNS ?= 1
e2e: stage fidelity-venv azurite
	@for i in $$(seq $(E2E_RUNS)); do \
	  echo "== e2e run $$i of $(E2E_RUNS)"; \
	  (cd $(STAGE_ROOT) && FIDELITY_VENV=$(FIDELITY_VENV) $(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist worksteal \
	    ansible_collections/atlassian_ops/backup/tests/e2e) || exit 1; \
	done

# The roles on localhost against the emulator (and moto for scheduled_backup's S3): no driver, no containers.
molecule: stage
	cd $(STAGE) && PATH=$(BIN):$$PATH $(BIN)/molecule test -s scheduled_backup
	cd $(STAGE) && PATH=$(BIN):$$PATH $(BIN)/molecule test -s site_migration

# What make test runs before pytest, on the two cores of CI: ansible-test sanity, ansible-lint and each molecule
# scenario keep one core busy, so the molecule scenarios (started first, the longest) run beside the static checks
# and the build, which run one after the other. Each target's output is shown whole when it ends.
checks:
	$(MAKE) --no-print-directory -j2 --output-sync=target molecule static-checks

static-checks: sanity lint docs-lint docsite changelog-lint release-check fidelity-venv azurite

test: checks
	cd $(STAGE_ROOT) && FIDELITY_VENV=$(FIDELITY_VENV) $(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist worksteal -q \
	  ansible_collections/atlassian_ops/backup/tests/unit ansible_collections/atlassian_ops/backup/tests/e2e

bench: stage fidelity-venv azurite
	FIDELITY_VENV=$(FIDELITY_VENV) $(BIN)/python benchmarks/download_bench.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/upload_bench.py $(UPLOAD_BENCH_ARGS)
	$(BIN)/python benchmarks/verify_bench.py $(VERIFY_BENCH_ARGS)
	$(BIN)/python benchmarks/prune_bench.py
	$(BIN)/python benchmarks/encrypt_bench.py $(ENCRYPT_BENCH_ARGS)
	$(BIN)/python benchmarks/offsite_bench.py $(OFFSITE_BENCH_ARGS)
	$(BIN)/python benchmarks/export_bench.py $(EXPORT_BENCH_ARGS)
	$(BIN)/python benchmarks/scale_bench.py $(SCALE_BENCH_ARGS)

CHAOS_RUNS ?= 200
CHAOS_SEED ?= 1
chaos: stage
	cd $(STAGE_ROOT) && PATH=$(BIN):$$PATH $(BIN)/python \
	  ansible_collections/atlassian_ops/backup/tests/chaos/campaign.py --runs $(CHAOS_RUNS) --seed $(CHAOS_SEED)

clean:
	rm -rf $(STAGE_ROOT) dist tests/output $(FIDELITY_VENV)
