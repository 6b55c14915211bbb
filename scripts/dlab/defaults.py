"""The launcher's shared names and defaults, each in one place."""

NAME = "dlab"                 # the instance `dlab up`, `down` and `logs` mean without a name
DATA = "dlab"                 # the per-user data folder's name (probe.data_home): default work, lab state
WORK = "work"                 # the default work folder in it; ./work where one with files exists (older dlab)
PORT = 8888                   # the host port `dlab up` asks for first
PORT_WINDOW = 50              # how many ports from the asked one `dlab up` tries
CONTAINER_PORT = 8888         # JupyterLab's port inside the image (JUPYTER_PORT in docker/Dockerfile)
HOME_TARGET = "/home/jovyan"  # the lab's home: a volume per lab, kept by `dlab down` (not --purge)
WORK_TARGET = "/home/jovyan/work"
TLS_TARGET = "/etc/dlab/tls"  # where a --public lab finds cert.pem and key.pem
ENV_GROUP = "100"             # the group that owns the image's Python environment (pip install works)
REGISTRY_PORT = 5000          # `dlab registry start`
ATTEMPTS = 4                  # launches tried while the engine's refusals change the plan
STARTUP_SECONDS = 180.0       # how long `dlab up` waits for JupyterLab to answer
PUBLIC_TOKEN_MIN = 16         # the shortest token a --public lab accepts
CERT_DAYS = 825               # a generated certificate's lifetime (what browsers accept)

# Limits of one lab: one student cannot freeze a shared server, and Keras data loaders get shared memory.
MEMORY_SHARE = 0.75           # of the engine's memory (no swap beyond it)
HOST_CPUS = 1                 # CPUs left to the host on engines with more than two
PIDS_LIMIT = 4096             # processes and threads (TensorFlow starts many threads; a fork bomb stops here)
SHM_SIZE = "1g"               # /dev/shm (Docker's 64 MB default starves multiprocessing data loaders)

# A lab keeps no capability; a root lab (--root, rootless engines) only those that let root manage files
# and processes inside it. NET_RAW (spoofing), MKNOD, SETFCAP and the rest are never given.
ROOT_CAPS = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID")
ALLOW_ROOT = "DLAB_ALLOW_ROOT"  # the image's variable: Jupyter runs as root only when it is 1


class Label:
    """Labels dlab writes on containers, and those it reads from images."""

    INSTANCE = "org.dlab.instance"    # a lab of `dlab up`: its name
    OWNER = "org.dlab.owner"          # the host user it belongs to (uid; the caller of sudo)
    SCHEME = "org.dlab.scheme"        # http, or https for a --public lab
    NETWORK = "org.dlab.network"      # the network dlab made for labs
    FLAVOR = "org.dlab.flavor"
    GPUS = "org.dlab.gpus"
    WORK = "org.dlab.work"
    PORT = "org.dlab.port"
    HOST = "org.dlab.host"
    CHECK = "org.dlab.check"          # a `dlab check` container
    PROBE = "org.dlab.probe"          # the GPU preflight container
    HUB = "org.dlab.hub"              # the classroom hub and every lab it spawns: the class (hub/jupyterhub_config.py)
    TENSORFLOW = "org.dlab.tensorflow"
    VERSION = "org.opencontainers.image.version"
