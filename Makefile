# The two commands of the README: `make demo` (the example DAGs against the bundled emulator) and
# `make test` (the test suite). Each creates its own virtual environment from this repo's files.
# `make test-airflow-<minor>` reruns the Airflow-marked tests on another supported Airflow minor,
# each in its own virtual environment (.venv-airflow-<minor>), rebuilt only when pyproject.toml
# or the pinned Airflow version changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
AIRFLOW_VERSION ?= 3.3.2
VENV ?= .venv
comma := ,

# The other supported minors, each at its latest patch release (`pip index versions apache-airflow`).
AIRFLOW_MINORS := 2.11 3.0 3.1 3.2
AIRFLOW_2.11 ?= 2.11.2
AIRFLOW_3.0 ?= 3.0.6
AIRFLOW_3.1 ?= 3.1.8
AIRFLOW_3.2 ?= 3.2.2

# What a leg installs beside Airflow and the test extra.
# 3.0 and 3.1 build the connection form by calling the hook's WTForms widgets with mocked classes,
# and only when WTForms and Flask-AppBuilder are importable (the FAB provider brings them), as they
# are in most deployments; without them no provider's extra fields show. 3.2+ read provider info.
# Installed without Airflow's constraints file, 3.0 and 3.2 resolve to libraries newer than they were
# released with, and even a one-task DAG fails under `airflow dags test`: on 3.2.2 pydantic 2.14 and
# cadwyn 9 break its execution API models ("PydanticUserError: Model 'TITerminalStatePayload' needs a
# discriminator field") and svcs 26 its in-process API ("'State' object has no attribute
# 'svcs_registry'"); on 3.0.6 the in-process API answers 422 to a task's start, and universal-pathlib
# 0.3 breaks ObjectStoragePath. These legs pin the
# versions that were current when each was released (3.0.6: end of August 2025, 3.2.2: end of May
# 2026; found with `uv pip compile --exclude-newer <date>`), standing in for its constraints file,
# which is what users install Airflow with.
LEG_PACKAGES_3.0 ?= apache-airflow-providers-fab \
  "pydantic==2.11.7" "fastapi==0.116.1" "cadwyn==5.4.4" "starlette==0.47.3" "svcs==25.1.0" "universal-pathlib==0.2.6"
LEG_PACKAGES_3.1 ?= apache-airflow-providers-fab
LEG_PACKAGES_3.2 ?= "pydantic==2.13.4" "fastapi==0.136.3" "cadwyn==6.2.2" "starlette==1.2.0" "svcs==25.1.0"

.PHONY: demo test test-airflow2 test-airflows airflow-minors lint benchmark clean $(addprefix test-airflow-,$(AIRFLOW_MINORS))

# A venv's stamp names its Airflow version ($(1)) and a digest of its leg's packages ($(2)), so that
# changing either rebuilds it.
stamp = $(1)$(if $(2),-$(shell echo '$(2)' | cksum | cut -d' ' -f1))

# $(1): the venv directory, $(2): the Airflow version, $(3): the extras, $(4): more packages.
define airflow_venv
$(1)/.installed-$(call stamp,$(2),$(4)): pyproject.toml
	rm -f $(1)/.installed-*
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install -q --upgrade uv
	$(1)/bin/python -m uv pip install --python $(1)/bin/python -q -e ".[$(3)]" "apache-airflow==$(2)" $(4)
	touch $$@
endef

$(eval $(call airflow_venv,$(VENV),$(AIRFLOW_VERSION),test$(comma)benchmark$(comma)notifications$(comma)openlineage,))
$(foreach minor,$(AIRFLOW_MINORS),$(eval $(call airflow_venv,$(VENV)-airflow-$(minor),$(AIRFLOW_$(minor)),test,$(LEG_PACKAGES_$(minor)))))

# Exit status 5 is pytest's "no tests collected": a leg with nothing marked for it is not a failure.
define airflow_leg
test-airflow-$(1): $(VENV)-airflow-$(1)/.installed-$(call stamp,$(AIRFLOW_$(1)),$(LEG_PACKAGES_$(1)))
	$(VENV)-airflow-$(1)/bin/python -m pytest -q -p no:cacheprovider -m airflow; status=$$$$?; \
	  if [ $$$$status -eq 5 ]; then echo "no Airflow-marked tests collected on Airflow $(AIRFLOW_$(1))"; exit 0; fi; exit $$$$status
endef
$(foreach minor,$(AIRFLOW_MINORS),$(eval $(call airflow_leg,$(minor))))

demo: $(VENV)/.installed-$(AIRFLOW_VERSION)
	$(VENV)/bin/python tools/demo.py

test: $(VENV)/.installed-$(AIRFLOW_VERSION)
	$(VENV)/bin/python -m pytest -q

# Every other supported minor, one after another.
test-airflows: $(addprefix test-airflow-,$(AIRFLOW_MINORS))

# The list .ci/run loops over.
airflow-minors:
	@echo $(AIRFLOW_MINORS)

# The name CI used before every minor had its own leg.
test-airflow2: test-airflow-2.11

lint: $(VENV)/.installed-$(AIRFLOW_VERSION)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

benchmark: $(VENV)/.installed-$(AIRFLOW_VERSION)
	$(VENV)/bin/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(VENV)-airflow-* .venv-airflow2 .demo .pytest_cache .mypy_cache .ruff_cache
