/** Commands the profile code lenses invoke, with the profile's document URI as argument. */
export const LAUNCH_COMMAND = 'usernet.launchProfile';
export const DEBUG_COMMAND = 'usernet.debugProfile';
