import { createHearth } from '@hearth/vue';

// One shared model for the app (browser only); components load it with `hearth.load(url)`.
export default defineNuxtPlugin((nuxtApp) => {
  nuxtApp.vueApp.use(createHearth());
});
