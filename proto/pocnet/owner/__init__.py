"""`pocnet-owner`: the signing tool of the people who never run a hotspot or an oracle.

An owner signs onboarding and location requests and transfers with their Solana keypair file;
a maker signs the onboarding of the hotspots it built with its maker key. Both work on request
files, on their own machines, so no key ever travels to the hotspot.
"""
