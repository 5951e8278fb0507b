# segbench: two commands on a fresh machine.
#   make demo   set up .venv and run the main job (segbench run -> HTML report)
#   make test   set up .venv and run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
CONSTRAINTS := .ci/constraints.txt
STAMP  := $(VENV)/.segbench-installed
PYTEST_ARGS ?=

.PHONY: demo test venv browser constraints clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Reinstall only when the project's dependency files change.
$(STAMP): pyproject.toml $(CONSTRAINTS) | $(PY)
	$(PIP) install --quiet -c $(CONSTRAINTS) -e '.[all,test]'
	@touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/segbench run

# Debian's chromium renders the HTML report in the browser test; as root we install it,
# otherwise that test skips and says why.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the report test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "warning: could not install chromium; the report test will skip"; \
	else echo "note: chromium not found and not root; the report test will skip"; fi

# pytest exits 5 when it collected no tests: that is a failure here, not silence.
test: $(STAMP) browser
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# Refresh the known-good versions from the current venv (deliberately, then commit).
constraints: $(STAMP)
	@{ sed -n '1,3p' $(CONSTRAINTS); $(PIP) freeze --exclude-editable | grep -v '^segbench'; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
