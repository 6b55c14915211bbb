"""What every test room shares.

paths       where the checkout, its version and the launcher are
runner      the `dlab` and `docker` commands, as a user types them
images      the images under test, the flavors chosen, throwaway tags
containers  TrackedContainer: every test container, checked and always removed
logs        which WARNING/ERROR lines a healthy container may log
ports       free ports, held until the container takes them
wait        polling with a deadline; HTTP status of a URL
hosts       recorded host facts for the planner, recorded engine answers
gpus        stand-in NVIDIA tools on PATH
student     another user (uid 1234) running the launcher
browser     Debian's chromium for Playwright
jupyter     a lab's Jupyter API and a kernel, asked direct
proxy       a tripwire posing as the proxy (the whole session runs behind one); network_env() for downloads
plugin      pytest hooks: markers checked, flavors selected, the session's proxy tripwire
"""
