"""DockerSpawner for a class: the runtime form (CPU or GPU), the GPU allocation, the folders.

Everything else (limits, mounts, network, no root) is plain DockerSpawner configuration in
jupyterhub_config.py.
"""

from __future__ import annotations

import html

from docker.types import DeviceRequest
from dockerspawner import DockerSpawner
from tornado import web
from traitlets import Any, Tuple

from . import folders
from .gpus import NoGpuFree, allocate, free_units, offers_gpu

GPU_REFUSAL = "could not select device driver"
RUNTIMES = ("cpu", "gpu")


class LabSpawner(DockerSpawner):
    """One dlab lab per student; GPU labs get a device (or all of them) by the class's GPU policy."""

    class_settings = Any(help="The class settings (dlab_hub.settings.Settings).").tag(config=True)
    gpu_units = Tuple(help="The host's GPU units (dlab_hub.gpus.parse_listing).").tag(config=True)
    gpu_ids = Tuple(help="The device ids this lab holds while it runs.")

    # --- the form -------------------------------------------------------------------------------
    def _gpu_offered(self):
        return offers_gpu(self.gpu_units, self.class_settings.gpu_policy)

    def held_by_others(self):
        """Device ids held by every other lab that runs or is starting."""
        held = set()
        for user in self.user.settings.get("users", {}).values():
            for spawner in user.spawners.values():
                if spawner is not self and spawner.active:
                    held.update(getattr(spawner, "gpu_ids", ()))
        return held

    def runtime_form(self, _spawner=None):
        if not self._gpu_offered():
            return ""  # nothing to choose: the lab starts at once
        policy = self.class_settings.gpu_policy
        if policy == "shared":
            gpu_note = f"shares the server's {len(self.gpu_units)} GPU(s) with the other GPU labs"
        else:
            free = len(free_units(self.gpu_units, self.held_by_others()))
            gpu_note = f"a GPU of your own: {free} of {len(self.gpu_units)} free" if free else \
                f"all {len(self.gpu_units)} GPUs are in use now; take CPU or try again later"
        return (
            '<fieldset class="form-group"><legend>Runtime</legend>'
            '<label><input type="radio" name="runtime" value="cpu" checked> CPU</label><br>'
            f'<label><input type="radio" name="runtime" value="gpu"> GPU ({html.escape(gpu_note)})</label>'
            '</fieldset>'
        )

    def options_from_form(self, formdata):
        runtime = (formdata.get("runtime") or ["cpu"])[0]
        options = {"runtime": runtime}
        self.check_runtime(options)  # a wrong or impossible choice shows the form again with the reason
        return options

    def check_runtime(self, options):
        runtime = options.get("runtime", "cpu")
        if runtime not in RUNTIMES:
            raise web.HTTPError(400, f"unknown runtime {runtime!r}: choose cpu or gpu")
        if runtime == "gpu":
            if not self._gpu_offered():
                raise web.HTTPError(400, "this server has no GPU for the labs: start a CPU lab")
            try:
                allocate(self.gpu_units, self.held_by_others(), self.class_settings.gpu_policy)
            except NoGpuFree as exc:
                raise web.HTTPError(409, f"{exc}: start a CPU lab, or try again when a GPU lab stops") from None
        return runtime

    # --- start and stop --------------------------------------------------------------------------
    async def start(self):
        settings = self.class_settings
        runtime = self.check_runtime(self.user_options)
        folders.prepare_student(settings, self.user.name, self._gpu_offered())
        # allocated before the first await: two labs starting at once never get the same device
        self.gpu_ids = allocate(self.gpu_units, self.held_by_others(), settings.gpu_policy) if runtime == "gpu" else ()
        self.image = settings.image_cuda if runtime == "gpu" else settings.image_cpu
        self.volumes = {
            f"{settings.students_root}/{self.user.name}": "/home/jovyan/work",
            settings.class_folder: {"bind": "/home/jovyan/work/class", "mode": "ro"},
        }
        try:
            return await super().start()
        except Exception as exc:
            self.gpu_ids = ()
            if self.object_id:  # a container that was made but could not start would linger
                await self.remove_object()
                self.object_id = ""
            raise self.explained(exc) from exc

    def explained(self, exc):
        text = str(exc)
        if GPU_REFUSAL in text:
            return web.HTTPError(500, "this server's Docker cannot hand a GPU to a lab (the NVIDIA Container Toolkit "
                                      "is missing or not set up): start a CPU lab, and tell your teacher")
        if "No such image" in text or "404 Client Error" in text and "image" in text:
            return web.HTTPError(500, f"the lab image {self.image} is not on this server: the teacher runs "
                                      "`dlab build` or `dlab load` (nothing is downloaded during class)")
        return exc

    async def stop(self, now=False):
        try:
            await super().stop(now=now)
        finally:
            self.gpu_ids = ()

    def get_env(self):
        env = super().get_env()
        if self.gpu_ids:
            env["NVIDIA_VISIBLE_DEVICES"] = ",".join(self.gpu_ids)
        return env

    # GPU ids live in the spawner's state, so a hub restart still knows who holds what.
    def get_state(self):
        state = super().get_state()
        if self.gpu_ids:
            state["gpu_ids"] = list(self.gpu_ids)
        return state

    def load_state(self, state):
        super().load_state(state)
        self.gpu_ids = tuple(state.get("gpu_ids", ()))

    def clear_state(self):
        super().clear_state()
        self.gpu_ids = ()


def host_config(spawner):
    """DockerSpawner's callable extra_host_config: no new privileges, no capabilities, pids, GPUs."""
    settings = spawner.class_settings
    config = {
        "security_opt": ["no-new-privileges:true"],
        "cap_drop": ["ALL"],
        "pids_limit": settings.pids,
        "memswap_limit": settings.memory,  # no swap beyond the memory limit
        "group_add": ["100"],              # the image's group: pip install works in the lab
    }
    if spawner.gpu_ids:
        config["device_requests"] = [DeviceRequest(device_ids=list(spawner.gpu_ids), capabilities=[["gpu"]])]
    return config
