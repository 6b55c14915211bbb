"""The launcher's shared names and defaults, each in one place."""

NAME = "dlab"                 # the instance `dlab up`, `down` and `logs` mean without a name
WORK = "work"                 # the work folder, relative to where dlab runs
PORT = 8888                   # the host port `dlab up` asks for first
PORT_WINDOW = 50              # how many ports from the asked one `dlab up` tries
CONTAINER_PORT = 8888         # JupyterLab's port inside the image (JUPYTER_PORT in docker/Dockerfile)
WORK_TARGET = "/home/jovyan/work"
ENV_GROUP = "100"             # the group that owns the image's Python environment (pip install works)
REGISTRY_PORT = 5000          # `dlab registry start`
ATTEMPTS = 4                  # launches tried while the engine's refusals change the plan
STARTUP_SECONDS = 180.0       # how long `dlab up` waits for JupyterLab to answer


class Label:
    """Labels dlab writes on containers, and those it reads from images."""

    INSTANCE = "org.dlab.instance"    # a lab of `dlab up`: its name
    FLAVOR = "org.dlab.flavor"
    GPUS = "org.dlab.gpus"
    WORK = "org.dlab.work"
    PORT = "org.dlab.port"
    HOST = "org.dlab.host"
    CHECK = "org.dlab.check"          # a `dlab check` container
    PROBE = "org.dlab.probe"          # the GPU preflight container
    TENSORFLOW = "org.dlab.tensorflow"
    VERSION = "org.opencontainers.image.version"
